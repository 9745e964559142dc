"""Page routes, one module per resource: parse the form, call a service, render (STYLE.md §6)."""
