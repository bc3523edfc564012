# %% [markdown]
# # kaggle_fashion_cnn

# %%
print(1)
