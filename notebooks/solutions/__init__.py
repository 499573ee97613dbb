"""Solutions to the workshop's exercises; try the exercise first."""
