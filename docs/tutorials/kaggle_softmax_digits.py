# %% [markdown]
# # kaggle_softmax_digits

# %%
print(1)
