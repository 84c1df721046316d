/**
 * One interface for every storage pool driver (principle 2). A driver instance is bound to one
 * pool, which lives at a host directory (e.g. `<LODGE_DIR>/storage-pools/<pool>`). Callers branch
 * on `capabilities`, never on the driver's name.
 */

/** What a driver can do; callers branch on these, never on driver names. */
export interface StorageCapabilities {
  /** an image is unpacked once into a pool volume that every instance made from it reuses */
  optimizedImages: boolean;
  /** an instance made from an image (or copied) shares the image's blocks: no full copy */
  cowClone: boolean;
  /** instance volumes can be given a size limit */
  quotas: boolean;
  /** the mounted instance rootfs supports idmapped mounts (mount_setattr MOUNT_ATTR_IDMAP) */
  idmappedMounts: boolean;
}

/** Called once per fingerprint with an empty directory to fill with the image's root filesystem. */
export type ImageUnpacker = (targetDir: string) => Promise<void>;

export interface ImageVolume {
  fingerprint: string;
  /** host path of the unpacked (unshifted) image rootfs */
  rootfs: string;
  /** true when this call unpacked it; false when it was there already (or another caller did) */
  created: boolean;
}

export interface InstanceVolume {
  name: string;
  /** fingerprint of the image the volume was made from; null for an empty volume */
  image: string | null;
  /** where the rootfs appears while the instance is mounted */
  rootfs: string;
  mounted: boolean;
}

/**
 * How a container is shown its volume without anything mounted on the host: the runtime mounts it
 * inside the container's own mount namespace. A plain directory is given through an idmapped
 * mount; overlay layers are joined there, with the lower layer idmapped.
 */
export type RootfsSource =
  | { kind: 'directory'; path: string }
  | { kind: 'overlay'; lower: string; upper: string; work: string; lowerMount: string; mountpoint: string };

export interface StorageDriver {
  readonly driverName: string;
  readonly capabilities: StorageCapabilities;
  /** host directory of the pool */
  readonly path: string;

  /** Creates the pool's directory layout. AlreadyExistsError if the pool exists. */
  createPool(): Promise<void>;
  /** Removes the pool. InUseError while it holds instance or image volumes. */
  deletePool(): Promise<void>;

  /**
   * Makes sure the image is unpacked in the pool, once: `unpack` fills a temporary directory which
   * is then renamed into place. Concurrent callers for the same fingerprint share one unpack.
   */
  createImageVolume(fingerprint: string, unpack: ImageUnpacker): Promise<ImageVolume>;
  hasImageVolume(fingerprint: string): Promise<boolean>;
  imageVolumes(): Promise<string[]>;
  /** Instances whose volume is based on this image. */
  imageVolumeUsers(fingerprint: string): Promise<string[]>;
  /** InUseError while instances use it; NotFoundError when absent. */
  deleteImageVolume(fingerprint: string): Promise<void>;

  /** A copy-on-write view of the image rootfs (or an empty volume without fromImage). Not mounted. */
  createInstanceVolume(name: string, fromImage?: string): Promise<InstanceVolume>;
  getInstanceVolume(name: string): Promise<InstanceVolume>;
  instanceVolumes(): Promise<string[]>;
  /** InUseError while mounted. */
  deleteInstanceVolume(name: string): Promise<void>;
  /** InUseError while mounted. */
  renameInstanceVolume(name: string, newName: string): Promise<void>;
  /** A new volume holding a copy of the source's own changes, on the same image. */
  copyInstanceVolume(source: string, target: string): Promise<InstanceVolume>;
  /** The volume as the runtime mounts it inside a container (see RootfsSource). */
  rootfsSource(name: string): Promise<RootfsSource>;
  /** Mounts the rootfs on the host (templates, file access while stopped); idempotent. Returns instanceRootfsPath(name). */
  mountInstance(name: string): Promise<string>;
  /** Unmounts it (at stop); idempotent. */
  unmountInstance(name: string): Promise<void>;
  /** Where the instance's rootfs is mounted (only populated between mount and unmount). */
  instanceRootfsPath(name: string): string;
  /** Bytes the instance itself uses (its own changes, not the shared image). */
  usage(name: string): Promise<number>;
  /**
   * Removes what an interrupted operation left (a daemon killed mid-create or mid-delete):
   * half-built and half-deleted volumes. Only at daemon start, before any new work. Returns what
   * it removed, for the log.
   */
  removeLeftovers(): Promise<string[]>;
}

/** A driver's entry in the registry: its name, capabilities and how to open a pool. */
export interface StorageDriverDefinition {
  name: string;
  capabilities: StorageCapabilities;
  /** Binds the driver to the pool at `poolPath` (nothing is created until createPool()). */
  open(poolPath: string, config?: Record<string, string>): StorageDriver;
}
