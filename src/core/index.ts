export * from './backend.js';
export * from './errors.js';
export * from './events.js';
export * from './graph.js';
export * from './llm.js';
export * from './output.js';
export * from './tasks.js';
