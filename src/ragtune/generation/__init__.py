"""Generation: answering from retrieved context with citations, through any model spec."""
