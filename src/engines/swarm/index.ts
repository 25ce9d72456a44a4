// The Swarm engine's folder, as the runtime loads it (one chunk, on use).
export { SwarmCluster } from './cluster.js';
export { SwarmEngine } from './engine.js';
