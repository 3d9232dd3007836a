"""Who may call, what they may use, how fast and how much: keys, roles, limits, budgets."""
