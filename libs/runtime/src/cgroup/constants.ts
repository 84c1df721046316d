/** Name of the cgroup below which every container cgroup lives (`<hierarchy>/lodge/<name>`). */
export const LODGE_CGROUP_PARENT = 'lodge';

/** Default bound for the waits a backend does (freeze, kill, destroy). */
export const DEFAULT_CGROUP_TIMEOUT_MS = 5000;
