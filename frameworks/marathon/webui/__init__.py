"""Marathon's web UI: static files (index.html, app.js, style.css) served at ``/`` of mesopy-marathon."""
