import { Agent } from 'undici';
export const make = (): Agent => new Agent();
