import type { DataSource } from 'typeorm';
import { NotFoundError } from '@lodge/common';
import { CertificateEntity, CertificatesRepository } from '@lodge/state';
import type { CertificateStore, TrustedCertificateRecord } from '../trust/certificate.store';

/** The trust store in PostgreSQL (table certificates): trusted clients survive restarts. */
export class PgCertificateStore implements CertificateStore {
  private readonly repo: CertificatesRepository;

  constructor(private readonly dataSource: DataSource) {
    this.repo = new CertificatesRepository(dataSource);
  }

  async list(): Promise<TrustedCertificateRecord[]> {
    return (await this.repo.list()).map(toRecord);
  }

  async get(fingerprint: string): Promise<TrustedCertificateRecord | undefined> {
    try {
      return toRecord(await this.repo.get(fingerprint));
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  async findByPrefix(prefix: string): Promise<TrustedCertificateRecord[]> {
    // trust stores hold a handful of entries: filtering the list is simplest and exact
    return (await this.list()).filter((r) => r.fingerprint.startsWith(prefix));
  }

  async add(record: TrustedCertificateRecord): Promise<void> {
    await this.repo.create(fromRecord(record));
  }

  async update(fingerprint: string, record: TrustedCertificateRecord): Promise<void> {
    if (record.fingerprint === fingerprint) {
      const { name, certificate, restricted, projects } = record;
      await this.repo.update(fingerprint, { name, certificate, restricted, projects });
      return;
    }
    // a new certificate: a new fingerprint, so the entry is replaced as one change
    await this.dataSource.transaction(async (manager) => {
      const tx = this.repo.with(manager);
      await tx.delete(fingerprint);
      await tx.create(fromRecord(record));
    });
  }

  async delete(fingerprint: string): Promise<boolean> {
    try {
      await this.repo.delete(fingerprint);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }
}

function toRecord(e: CertificateEntity): TrustedCertificateRecord {
  return { fingerprint: e.fingerprint, type: 'client', name: e.name, certificate: e.certificate, restricted: e.restricted, projects: [...(e.projects ?? [])] };
}

function fromRecord(r: TrustedCertificateRecord) {
  return { fingerprint: r.fingerprint, certificate: r.certificate, name: r.name, type: 'client' as const, restricted: r.restricted, projects: r.projects };
}
