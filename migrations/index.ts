import { InitialSchema1764000000000 } from './1764000000000-initial-schema';
import { Networks1795525676177 } from './1795525676177-networks';

/** Every migration, oldest first. Add new ones at the end. */
export const MIGRATIONS = [InitialSchema1764000000000, Networks1795525676177];
