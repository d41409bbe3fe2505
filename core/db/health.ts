import type { HealthCheck } from '../health.ts';
import type { Db } from './types.ts';

export function dbHealth(db: Db): HealthCheck {
  return {
    name: 'db',
    async check() {
      await db.query('SELECT 1');
    },
  };
}
