import { Controller, Get, Param, Query } from '@nestjs/common';
import { Cluster, etagHash, Project, sortedKeys, StoragePool } from '@lodge/api-types';
import { NotFoundError } from '@lodge/common';
import { sync } from '../http/lxd-response';
import { DEFAULT_PROJECT, resolveProject } from '../http/project';
import { parseRecursion } from '../http/recursion';
import { ServerInfoService } from '../server/server-info.service';

/**
 * Projects, storage pools and the cluster, read-only until libs/state and libs/storage land:
 * the `default` project and the `default` dir pool. Writes are 404 (no route), as unknown
 * methods are in LXD.
 */
function defaultProject(): Project {
  return {
    name: DEFAULT_PROJECT,
    description: 'Default Lodge project',
    config: {
      'features.images': 'true',
      'features.networks': 'true',
      'features.profiles': 'true',
      'features.storage.volumes': 'true',
    },
    used_by: [],
  };
}

function defaultPool(): StoragePool {
  return {
    name: 'default',
    description: '',
    driver: 'dir',
    status: 'Created',
    config: {},
    used_by: [],
    locations: ['none'],
  };
}

@Controller('1.0/projects')
export class ProjectsController {
  @Get()
  list(@Query('recursion') recursion: unknown) {
    const p = defaultProject();
    return sync(parseRecursion(recursion) > 0 ? [p] : [`/1.0/projects/${p.name}`]);
  }

  @Get(':name')
  get(@Param('name') name: string) {
    if (name !== DEFAULT_PROJECT) throw new NotFoundError('Project not found');
    const p = defaultProject();
    return sync(p, { etag: etagHash({ description: p.description, config: sortedKeys(p.config) }) });
  }
}

@Controller('1.0/storage-pools')
export class StoragePoolsController {
  @Get()
  list(@Query('recursion') recursion: unknown, @Query('project') project: unknown) {
    resolveProject(project);
    const p = defaultPool();
    return sync(parseRecursion(recursion) > 0 ? [p] : [`/1.0/storage-pools/${p.name}`]);
  }

  @Get(':name')
  get(@Param('name') name: string, @Query('project') project: unknown) {
    resolveProject(project);
    if (name !== 'default') throw new NotFoundError('Storage pool not found');
    const p = defaultPool();
    return sync(p, { etag: etagHash({ config: sortedKeys(p.config), description: p.description }) });
  }
}

@Controller('1.0/cluster')
export class ClusterController {
  constructor(private readonly info: ServerInfoService) {}

  @Get()
  async get() {
    const env = (await this.info.info(DEFAULT_PROJECT)).environment;
    const cluster: Cluster = { server_name: env.server_name, enabled: false, member_config: [] };
    return sync(cluster, { etag: etagHash({ server_name: cluster.server_name, enabled: false }) });
  }
}
