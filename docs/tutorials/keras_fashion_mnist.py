# %% [markdown]
# # keras_fashion_mnist

# %%
print(1)
