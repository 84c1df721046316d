import type { PlacementOptions } from '@lodge/nova';
import { requireHttpUrl } from './endpoint-url';

/**
 * lodged's placement settings: the endpoint from --placement-url / LODGE_PLACEMENT_URL, the
 * credentials only from the environment (secrets stay out of `ps`):
 * LODGE_PLACEMENT_TOKEN (a fixed token), or keystone v3 password auth with
 * LODGE_KEYSTONE_AUTH_URL, LODGE_KEYSTONE_USERNAME, LODGE_KEYSTONE_PASSWORD,
 * LODGE_KEYSTONE_PROJECT_NAME and optionally LODGE_KEYSTONE_USER_DOMAIN_NAME /
 * LODGE_KEYSTONE_PROJECT_DOMAIN_NAME (default "Default"), as nova's [placement] section.
 */
export function placementOptionsFromEnv(url: string, env: NodeJS.ProcessEnv = process.env): PlacementOptions {
  requireHttpUrl('--placement-url', url);
  if (env.LODGE_PLACEMENT_TOKEN) return { url, token: env.LODGE_PLACEMENT_TOKEN };
  const authUrl = env.LODGE_KEYSTONE_AUTH_URL;
  if (!authUrl) throw new Error('--placement-url needs LODGE_PLACEMENT_TOKEN or LODGE_KEYSTONE_AUTH_URL (with LODGE_KEYSTONE_USERNAME, _PASSWORD, _PROJECT_NAME)');
  const missing = ['LODGE_KEYSTONE_USERNAME', 'LODGE_KEYSTONE_PASSWORD', 'LODGE_KEYSTONE_PROJECT_NAME'].filter((k) => !env[k]);
  if (missing.length) throw new Error(`keystone auth for placement needs ${missing.join(', ')}`);
  return {
    url,
    keystone: {
      authUrl,
      username: env.LODGE_KEYSTONE_USERNAME!,
      password: env.LODGE_KEYSTONE_PASSWORD!,
      projectName: env.LODGE_KEYSTONE_PROJECT_NAME!,
      userDomainName: env.LODGE_KEYSTONE_USER_DOMAIN_NAME || undefined,
      projectDomainName: env.LODGE_KEYSTONE_PROJECT_DOMAIN_NAME || undefined,
    },
  };
}
