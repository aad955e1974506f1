"""Edge rules and analytics: the expression language, window functions, derived tags and rules."""
