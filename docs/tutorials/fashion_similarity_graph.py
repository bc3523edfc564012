# %% [markdown]
# # fashion_similarity_graph

# %%
print(1)
