/** Refuses an OpenStack endpoint option (--glance-url, --placement-url) that is not an http(s) URL. */
export function requireHttpUrl(option: string, url: string): void {
  if (!/^https?:\/\/[^/]/.test(url)) throw new Error(`${option}: not an http(s) URL: ${url}`);
}
