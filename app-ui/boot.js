// Loads the wasm UI. A separate file (not an inline script) so the Tauri CSP can forbid inline scripts.
import init from './app_ui.js';
await init();
