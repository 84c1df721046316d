import { NovaException } from '../errors/nova-exceptions';
import { checkAcceptable, generatedMetadata } from './glance-image-cache';
import type { GlanceImage } from './glance.client';

const image = (over: Partial<GlanceImage> = {}): GlanceImage => ({
  id: 'b2f1c8e0-0000-4000-8000-000000000001',
  name: 'focal',
  status: 'active',
  disk_format: 'root-tar',
  container_format: 'bare',
  size: 10,
  checksum: null,
  os_hash_algo: null,
  os_hash_value: null,
  created_at: '2026-11-01T10:00:00Z',
  properties: {},
  ...over,
});

describe('which Glance images a container can be made from', () => {
  it.each(['raw', 'root-tar', 'squashfs'])('accepts an active %s image', (disk_format) => {
    expect(() => checkAcceptable(image({ disk_format }))).not.toThrow();
  });

  it.each(['qcow2', 'vmdk', 'iso', null])('refuses disk format %s with ImageUnacceptable', (disk_format) => {
    try {
      checkAcceptable(image({ disk_format }));
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(NovaException);
      expect((err as NovaException).novaClass).toBe('ImageUnacceptable');
      expect((err as Error).message).toContain(`disk_format ${disk_format} is not one a container can use`);
    }
  });

  it('refuses an image that is not active', () => {
    expect(() => checkAcceptable(image({ status: 'queued' }))).toThrow('is unacceptable: status is queued, not active');
  });
});

describe('metadata made for a bare root filesystem', () => {
  it('takes the architecture, os and release from the image properties and the date from Glance', () => {
    expect(generatedMetadata(image({ properties: { hw_architecture: 'aarch64', os_distro: 'ubuntu', os_version: '22.04' } }), 'x64')).toEqual({
      architecture: 'aarch64',
      creation_date: Date.parse('2026-11-01T10:00:00Z') / 1000,
      properties: { description: 'focal', os: 'ubuntu', release: '22.04' },
    });
  });

  it("falls back to the host's architecture under Lodge's name for it", () => {
    expect(generatedMetadata(image(), 'x64').architecture).toBe('x86_64');
    expect(generatedMetadata(image(), 'arm64').architecture).toBe('aarch64');
  });

  it('is the same for the same record (so the fingerprint is too)', () => {
    expect(generatedMetadata(image({ created_at: null }), 'x64')).toEqual(generatedMetadata(image({ created_at: null }), 'x64'));
    expect(generatedMetadata(image({ created_at: null }), 'x64').creation_date).toBe(0);
  });
});
