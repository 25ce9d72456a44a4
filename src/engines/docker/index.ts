// The Docker engine's folder, as the runtime loads it (one chunk, on use).
export { dockerAt, makeDocker } from './client.js';
export { DockerEngine } from './engine.js';
export { DockerImages } from './images.js';
