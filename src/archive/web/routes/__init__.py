"""One module per area of the web application; each exports ROUTES."""
