// Placeholder for the demo app (web/demo/demo.js in main).
