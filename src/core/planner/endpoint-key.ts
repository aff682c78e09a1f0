// The planner's API key belongs to the endpoint it was entered for. It is stored with that
// endpoint, and sent only there: when the configured endpoint is another one (the user changed
// it, or something changed it for them), the editor asks before the key goes anywhere new.

export interface StoredKey {
  key: string;
  /** The endpoint (normalizeEndpoint) the key was entered for; absent for keys stored before keys were bound. */
  endpoint?: string;
}

/** An endpoint as compared: scheme, host, port and path, without credentials, query or a trailing slash. */
export function normalizeEndpoint(url: string): string {
  const u = new URL(url.trim()); // lower-cases scheme and host, drops a default port
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

/** Reads what SecretStorage holds: the JSON form, or a bare key stored by an earlier version. */
export function parseStoredKey(raw: string | undefined): StoredKey | undefined {
  if (raw === undefined || raw === '') return undefined;
  try {
    const v = JSON.parse(raw) as unknown;
    if (v && typeof v === 'object' && typeof (v as StoredKey).key === 'string') {
      const { key, endpoint } = v as StoredKey;
      return typeof endpoint === 'string' ? { key, endpoint } : { key };
    }
  } catch {
    // a bare key
  }
  return { key: raw };
}

export function encodeStoredKey(k: StoredKey): string {
  return JSON.stringify(k.endpoint ? { key: k.key, endpoint: k.endpoint } : { key: k.key });
}

/** What to do with the stored key for a request to `endpoint`. */
export type KeyDecision =
  | { kind: 'none' }
  | { kind: 'send'; key: string }
  /** The key was entered for another endpoint (or an unrecorded one): ask before sending it. */
  | { kind: 'ask'; key: string; boundTo: string | undefined; endpoint: string };

export function keyDecision(stored: StoredKey | undefined, endpoint: string): KeyDecision {
  if (!stored) return { kind: 'none' };
  let target: string;
  try {
    target = normalizeEndpoint(endpoint);
  } catch {
    return { kind: 'none' }; // not a URL: nothing is sent anywhere
  }
  if (stored.endpoint === target) return { kind: 'send', key: stored.key };
  return { kind: 'ask', key: stored.key, boundTo: stored.endpoint, endpoint: target };
}
