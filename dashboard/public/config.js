// Development placeholder. The deployment replaces this file with the real endpoints and serves
// it with Cache-Control: no-cache, so a redeployed API is picked up without rebuilding the app.
// Left empty, the app falls back to VITE_API_BASE / VITE_WEBSOCKET_URL (see README.md).
window.API_BASE = window.API_BASE || "";
window.WEBSOCKET_URL = window.WEBSOCKET_URL || "";
