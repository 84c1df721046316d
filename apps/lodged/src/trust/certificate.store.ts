import { AlreadyExistsError, NotFoundError } from '@lodge/common';

/** One entry of the trust store. */
export interface TrustedCertificateRecord {
  /** sha256 of the DER, lower-case hex (the key). */
  fingerprint: string;
  type: 'client';
  name: string;
  /** PEM of the certificate. */
  certificate: string;
  restricted: boolean;
  projects: string[];
}

/**
 * Persistence of the trust store (`/1.0/certificates`). The PostgreSQL-backed store comes with
 * libs/state; until then the daemon uses InMemoryCertificateStore. Fingerprints are lower-case hex.
 */
export interface CertificateStore {
  list(): Promise<TrustedCertificateRecord[]>;
  /** Exact fingerprint; undefined when absent. Called on every HTTPS request (trust check). */
  get(fingerprint: string): Promise<TrustedCertificateRecord | undefined>;
  /** Entries whose fingerprint starts with `prefix` (LXD accepts fingerprint prefixes in URLs). */
  findByPrefix(prefix: string): Promise<TrustedCertificateRecord[]>;
  /** Throws AlreadyExistsError when the fingerprint is present. */
  add(record: TrustedCertificateRecord): Promise<void>;
  /** Replaces the entry stored under `fingerprint` (the record may carry a new fingerprint); NotFoundError when absent. */
  update(fingerprint: string, record: TrustedCertificateRecord): Promise<void>;
  /** true when an entry was removed. */
  delete(fingerprint: string): Promise<boolean>;
}

export const CERTIFICATE_STORE = Symbol('CERTIFICATE_STORE');

/** Keeps the trust store in process memory only: it is lost when the daemon stops. */
export class InMemoryCertificateStore implements CertificateStore {
  private readonly records = new Map<string, TrustedCertificateRecord>();

  constructor(initial: TrustedCertificateRecord[] = []) {
    for (const r of initial) this.records.set(r.fingerprint, clone(r));
  }

  async list(): Promise<TrustedCertificateRecord[]> {
    return [...this.records.values()].sort((a, b) => a.fingerprint.localeCompare(b.fingerprint)).map(clone);
  }

  async get(fingerprint: string): Promise<TrustedCertificateRecord | undefined> {
    const r = this.records.get(fingerprint);
    return r && clone(r);
  }

  async findByPrefix(prefix: string): Promise<TrustedCertificateRecord[]> {
    return (await this.list()).filter((r) => r.fingerprint.startsWith(prefix));
  }

  async add(record: TrustedCertificateRecord): Promise<void> {
    if (this.records.has(record.fingerprint)) throw new AlreadyExistsError('Certificate already in trust store');
    this.records.set(record.fingerprint, clone(record));
  }

  async update(fingerprint: string, record: TrustedCertificateRecord): Promise<void> {
    if (!this.records.has(fingerprint)) throw new NotFoundError('Certificate not found');
    if (record.fingerprint !== fingerprint && this.records.has(record.fingerprint)) {
      throw new AlreadyExistsError('Certificate already in trust store');
    }
    this.records.delete(fingerprint);
    this.records.set(record.fingerprint, clone(record));
  }

  async delete(fingerprint: string): Promise<boolean> {
    return this.records.delete(fingerprint);
  }
}

function clone(r: TrustedCertificateRecord): TrustedCertificateRecord {
  return { ...r, projects: [...r.projects] };
}
