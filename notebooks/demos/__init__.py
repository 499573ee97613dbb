"""Small workflows and activities that a notebook needs for one demonstration, and the package does not."""
