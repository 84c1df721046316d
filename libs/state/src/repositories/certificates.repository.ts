import { InvalidArgumentError, NotFoundError } from '@lodge/common';
import { Injectable } from '@nestjs/common';
import { withDbErrors } from '../db-errors';
import { CertificateEntity } from '../entities/certificate.entity';
import { defined, StateRepository } from './base.repository';

export interface CreateCertificateInput {
  fingerprint: string;
  certificate: string;
  name?: string;
  type?: 'client';
  restricted?: boolean;
  projects?: string[];
}

export interface CertificatePatch {
  name?: string;
  certificate?: string;
  restricted?: boolean;
  projects?: string[];
}

export const CERTIFICATE_NOT_FOUND = 'Certificate not found';
export const CERTIFICATE_EXISTS = 'Certificate already in trust store';

@Injectable()
export class CertificatesRepository extends StateRepository {
  async create(input: CreateCertificateInput): Promise<CertificateEntity> {
    const res = await withDbErrors(
      () =>
        this.manager
          .createQueryBuilder()
          .insert()
          .into(CertificateEntity)
          .values(defined(input))
          .returning('*')
          .updateEntity(false)
          .execute(),
      CERTIFICATE_EXISTS,
    );
    return this.hydrate(CertificateEntity, this.rowsOf(res))[0];
  }

  async get(fingerprint: string): Promise<CertificateEntity> {
    const row = await this.manager.findOne(CertificateEntity, { where: { fingerprint } });
    if (!row) throw new NotFoundError(CERTIFICATE_NOT_FOUND);
    return row;
  }

  /** By a unique fingerprint prefix (the API accepts prefixes). */
  async getByPrefix(prefix: string): Promise<CertificateEntity> {
    const rows: Record<string, unknown>[] = await this.query(
      `SELECT * FROM certificates WHERE starts_with(fingerprint, $1) ORDER BY fingerprint LIMIT 2`,
      [prefix],
    );
    if (rows.length === 0) throw new NotFoundError(CERTIFICATE_NOT_FOUND);
    if (rows.length > 1) throw new InvalidArgumentError('More than one certificate matches');
    return this.hydrate(CertificateEntity, rows)[0];
  }

  /** Whether a client certificate with this fingerprint is trusted (the TLS check, one query). */
  async isTrusted(fingerprint: string): Promise<boolean> {
    return this.manager.exists(CertificateEntity, { where: { fingerprint } });
  }

  list(): Promise<CertificateEntity[]> {
    return this.manager.find(CertificateEntity, { order: { fingerprint: 'ASC' } });
  }

  async update(fingerprint: string, patch: CertificatePatch): Promise<CertificateEntity> {
    const set = defined(patch);
    if (Object.keys(set).length === 0) return this.get(fingerprint);
    const res = await this.manager
      .createQueryBuilder()
      .update(CertificateEntity)
      .set(set)
      .where('fingerprint = :fingerprint', { fingerprint })
      .returning('*')
      .updateEntity(false)
      .execute();
    const [row] = this.hydrate(CertificateEntity, this.rowsOf(res));
    if (!row) throw new NotFoundError(CERTIFICATE_NOT_FOUND);
    return row;
  }

  async delete(fingerprint: string): Promise<void> {
    const rows: unknown[] = await this.query('DELETE FROM certificates WHERE fingerprint = $1 RETURNING id', [
      fingerprint,
    ]);
    if (rows.length === 0) throw new NotFoundError(CERTIFICATE_NOT_FOUND);
  }
}
