import { randomBytes, X509Certificate } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Certificate, certificateUrl, CertificatePut, decodeCertificateAddToken, StatusCode } from '@lodge/api-types';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '@lodge/common';
import { EventsService } from '../events/events.service';
import { checkIfMatch } from '../http/etag';
import { LodgeOperation } from '../operations/operation';
import { OperationsService } from '../operations/operations.service';
import { ServerCertificate } from '../server/certificate';
import { HttpsListenerService } from '../server/https-listener.service';
import { ServerConfigService } from '../server/server-config.service';
import { SERVER_CERTIFICATE } from '../server/server-info.service';
import { CERTIFICATE_STORE, CertificateStore, TrustedCertificateRecord } from './certificate.store';
import { NotAuthorizedError } from './trust.guard';
import { fingerprintOf, RequestAuth } from './trust.service';

/** The result of POST /1.0/certificates: a stored certificate, or a token operation. */
export type CertificateAddResult = { kind: 'added'; fingerprint: string } | { kind: 'token'; operation: LodgeOperation };

/** What a token stands for: the request of the trusted client that made it. */
interface TokenRequest {
  name: string;
  type: 'client';
  restricted: boolean;
  projects: string[];
}

interface PendingToken {
  operation: LodgeOperation;
  request: TokenRequest;
}

/** LXD's description of certificate add token operations. */
export const CERTIFICATE_TOKEN_DESCRIPTION = 'Certificate add token';

/**
 * The trust store behind /1.0/certificates (LXD 5.0 semantics) and certificate add tokens.
 *
 * - Trusted clients add any certificate (base64 DER or PEM), or ask for a token.
 * - Untrusted clients (HTTPS, unknown client certificate) may only add their own TLS client
 *   certificate, with `password` = core.trust_password, or a token (the whole token or its secret,
 *   as `password` or `trust_token`). A token is single use: consuming it cancels its operation.
 * - Restricted (project-scoped) certificates are refused: nothing would enforce the restriction.
 */
@Injectable()
export class CertificatesService {
  private readonly tokens = new Map<string, PendingToken>();

  constructor(
    @Inject(CERTIFICATE_STORE) private readonly store: CertificateStore,
    private readonly operations: OperationsService,
    private readonly events: EventsService,
    private readonly config: ServerConfigService,
    private readonly listener: HttpsListenerService,
    @Inject(SERVER_CERTIFICATE) private readonly serverCertificate: ServerCertificate,
  ) {}

  async list(): Promise<Certificate[]> {
    return (await this.store.list()).map(toApi);
  }

  /** By fingerprint or a unique prefix of it; 404 "Certificate not found". */
  async get(fingerprint: string): Promise<Certificate> {
    return toApi(await this.find(fingerprint));
  }

  /** POST /1.0/certificates. */
  async add(input: unknown, auth: RequestAuth): Promise<CertificateAddResult> {
    const req = parsePost(input);
    if (req.token && req.certificate !== '') throw new InvalidArgumentError("Can't use certificate if token is requested");
    if (req.token && req.type !== 'client') throw new InvalidArgumentError('Tokens can only be issued for client certificates');

    let name = req.name;
    let restricted = req.restricted;
    let projects = req.projects;
    if (!auth.trusted) {
      const secret = req.trust_token || req.password;
      if (!secret) throw new NotAuthorizedError();
      const fromToken = await this.consumeToken(secret);
      if (fromToken) {
        // The token's request wins: the joining client may not choose its name or restrictions.
        ({ name, restricted, projects } = fromToken);
        req.certificate = '';
        req.token = false;
      } else if (!(await this.config.checkTrustPassword(secret))) {
        throw new NotAuthorizedError();
      }
    }
    checkType(req.type);
    checkUnrestricted(restricted);

    let x509: X509Certificate;
    if (req.certificate !== '') {
      x509 = parseCertificate(req.certificate);
    } else if (req.token) {
      return { kind: 'token', operation: this.createToken({ name, type: 'client', restricted, projects }) };
    } else if (auth.protocol === 'tls') {
      if (!auth.certificateDer) throw new InvalidArgumentError('No client certificate provided');
      x509 = new X509Certificate(auth.certificateDer);
    } else {
      throw new InvalidArgumentError("Can't use TLS data on non-TLS link");
    }

    const fingerprint = fingerprintOf(x509.raw);
    const record: TrustedCertificateRecord = {
      fingerprint,
      type: 'client',
      name: name || commonName(x509) || auth.address,
      certificate: toPem(x509),
      restricted: false,
      projects,
    };
    try {
      await this.store.add(record);
    } catch (err) {
      if (err instanceof AlreadyExistsError) throw new InvalidArgumentError('Certificate already in trust store');
      throw err;
    }
    this.lifecycle('certificate-created', fingerprint, auth);
    return { kind: 'added', fingerprint };
  }

  /** PUT /1.0/certificates/{fingerprint}: name, type, restricted, projects; a new `certificate` replaces it. */
  async replace(fingerprint: string, input: unknown, ifMatch: string | undefined, auth: RequestAuth): Promise<void> {
    const current = await this.find(fingerprint);
    checkIfMatch(ifMatch, toApi(current));
    await this.update(current, parsePut(input, undefined), auth);
  }

  /** PATCH /1.0/certificates/{fingerprint}: the given fields over the current ones. */
  async patch(fingerprint: string, input: unknown, ifMatch: string | undefined, auth: RequestAuth): Promise<void> {
    const current = await this.find(fingerprint);
    checkIfMatch(ifMatch, toApi(current));
    await this.update(current, parsePut(input, toApi(current)), auth);
  }

  async remove(fingerprint: string, auth: RequestAuth): Promise<void> {
    const current = await this.find(fingerprint);
    if (!(await this.store.delete(current.fingerprint))) throw new NotFoundError('Certificate not found');
    this.lifecycle('certificate-deleted', current.fingerprint, auth);
  }

  private async update(current: TrustedCertificateRecord, put: CertificatePut, auth: RequestAuth): Promise<void> {
    checkType(put.type);
    checkUnrestricted(put.restricted);
    const next: TrustedCertificateRecord = { ...current, name: put.name, projects: put.projects };
    if (put.certificate !== '' && put.certificate !== current.certificate) {
      const x509 = parseCertificate(put.certificate);
      next.certificate = toPem(x509);
      next.fingerprint = fingerprintOf(x509.raw);
    }
    try {
      await this.store.update(current.fingerprint, next);
    } catch (err) {
      if (err instanceof AlreadyExistsError) throw new InvalidArgumentError('Certificate already in trust store');
      throw err;
    }
    this.lifecycle('certificate-updated', next.fingerprint, auth);
  }

  private async find(fingerprint: string): Promise<TrustedCertificateRecord> {
    const prefix = fingerprint.toLowerCase();
    if (!/^[0-9a-f]{1,64}$/.test(prefix)) throw new NotFoundError('Certificate not found');
    const exact = prefix.length === 64 ? await this.store.get(prefix) : undefined;
    if (exact) return exact;
    const matches = await this.store.findByPrefix(prefix);
    if (matches.length === 0) throw new NotFoundError('Certificate not found');
    if (matches.length > 1) throw new InvalidArgumentError('More than one certificate matches');
    return matches[0];
  }

  /**
   * A token operation (class token, Running until consumed or cancelled). Its metadata is what the
   * client builds the token from: request.name, secret, the server certificate's fingerprint and
   * the HTTPS addresses.
   */
  private createToken(request: TokenRequest): LodgeOperation {
    if (!request.name) throw new InvalidArgumentError('A client name is required for a token');
    this.prune();
    const secret = randomBytes(32).toString('hex');
    const operation = this.operations.createAndStart({
      class: 'token',
      description: CERTIFICATE_TOKEN_DESCRIPTION,
      mayCancel: true,
      metadata: {
        secret,
        fingerprint: this.serverCertificate.fingerprint,
        addresses: this.listener.addresses(),
        request: { ...request, projects: [...request.projects], certificate: '', password: '', token: true },
      },
    });
    this.tokens.set(secret, { operation, request });
    return operation;
  }

  /**
   * Consumes a token given as the whole token or as its secret. Returns undefined when the text is
   * not a token (then it is a trust password); 403 for a well-formed token nobody issued.
   */
  private async consumeToken(text: string): Promise<TokenRequest | undefined> {
    this.prune();
    const decoded = decodeCertificateAddToken(text);
    const secret = decoded ? decoded.secret : text;
    const pending = this.tokens.get(secret);
    if (!pending || pending.operation.status !== StatusCode.Running) {
      if (decoded) throw new NotAuthorizedError('No matching certificate add operation found');
      return undefined;
    }
    this.tokens.delete(secret);
    await pending.operation.cancel();
    return pending.request;
  }

  /** Forgets tokens whose operation ended (cancelled with DELETE /1.0/operations/{id}). */
  private prune(): void {
    for (const [secret, t] of this.tokens) if (t.operation.isFinal) this.tokens.delete(secret);
  }

  private lifecycle(action: string, fingerprint: string, auth: RequestAuth): void {
    this.events.emitLifecycle({
      action,
      source: certificateUrl(fingerprint),
      requestor: { username: auth.fingerprint ?? (auth.protocol === 'unix' ? 'root' : ''), protocol: auth.protocol, address: auth.address },
    });
  }
}

export function toApi(r: TrustedCertificateRecord): Certificate {
  return {
    name: r.name,
    type: r.type,
    restricted: r.restricted,
    projects: [...r.projects],
    certificate: r.certificate,
    fingerprint: r.fingerprint,
  };
}

interface ParsedPost {
  name: string;
  type: string;
  restricted: boolean;
  projects: string[];
  certificate: string;
  password: string;
  token: boolean;
  trust_token: string;
}

function asObject(input: unknown): Record<string, unknown> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new InvalidArgumentError('Request body must be a JSON object');
  return input as Record<string, unknown>;
}

function field<T>(obj: Record<string, unknown>, key: string, kind: 'string' | 'boolean', fallback: T): T {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== kind) throw new InvalidArgumentError(`Invalid value for field "${key}": expected a ${kind}`);
  return v as T;
}

function projectsField(obj: Record<string, unknown>, fallback: string[]): string[] {
  const v = obj.projects;
  if (v === undefined) return fallback;
  if (v === null) return [];
  if (!Array.isArray(v) || v.some((p) => typeof p !== 'string')) throw new InvalidArgumentError('Invalid value for field "projects": expected a list of strings');
  return [...(v as string[])];
}

function parsePost(input: unknown): ParsedPost {
  const o = asObject(input);
  return {
    name: field(o, 'name', 'string', ''),
    type: field(o, 'type', 'string', ''),
    restricted: field(o, 'restricted', 'boolean', false),
    projects: projectsField(o, []),
    certificate: field(o, 'certificate', 'string', ''),
    password: field(o, 'password', 'string', ''),
    token: field(o, 'token', 'boolean', false),
    trust_token: field(o, 'trust_token', 'string', ''),
  };
}

/** PUT (base undefined: absent fields are zero values, as Go decodes) or PATCH (absent fields keep `base`). */
function parsePut(input: unknown, base: Certificate | undefined): CertificatePut {
  const o = asObject(input);
  return {
    name: field(o, 'name', 'string', base?.name ?? ''),
    type: field(o, 'type', 'string', base?.type ?? '') as CertificatePut['type'],
    restricted: field(o, 'restricted', 'boolean', base?.restricted ?? false),
    projects: projectsField(o, base?.projects ?? []),
    certificate: field(o, 'certificate', 'string', base?.certificate ?? ''),
  };
}

/** "client" (or empty, read as client); LXD's "metrics" type is not supported. */
function checkType(type: string): void {
  if (type !== '' && type !== 'client') throw new InvalidArgumentError(`Unknown certificate type "${type}"`);
}

function checkUnrestricted(restricted: boolean): void {
  if (restricted) throw new InvalidArgumentError('Restricted certificates are not supported');
}

/** base64 DER (what LXD clients send) or PEM. */
export function parseCertificate(text: string): X509Certificate {
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith('-----BEGIN')) return new X509Certificate(trimmed);
    const compact = trimmed.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) throw new Error('not base64');
    return new X509Certificate(Buffer.from(compact, 'base64'));
  } catch (err) {
    throw new InvalidArgumentError(`invalid certificate material: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function toPem(x509: X509Certificate): string {
  const text = x509.toString();
  return text.endsWith('\n') ? text : text + '\n';
}

function commonName(x509: X509Certificate): string | undefined {
  const m = /^CN=(.*)$/m.exec(x509.subject);
  return m?.[1] || undefined;
}
