# %% [markdown]
# # hands_on_ml_classification

# %%
print(1)
