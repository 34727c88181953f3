import type { Migration } from 'kysely';
import type { DialectKind } from '../dialect-kind.ts';
import { initialMigration } from './0001-initial.ts';
import { notificationsMigration } from './0002-notifications.ts';
import { accessKeysMigration } from './0003-access-keys.ts';
import { deliveryBudgetMigration } from './0004-delivery-budget.ts';
import { endpointClientCertificatesMigration } from './0005-endpoint-client-certificates.ts';
import { endpointSignatureFormatMigration } from './0006-endpoint-signature-format.ts';
import { endpointSealedHeadersMigration } from './0007-endpoint-sealed-headers.ts';
import { inlineObjectsMigration } from './0008-inline-objects.ts';

/** Every schema migration, in order. Names never change once released. */
export function migrationList(kind: DialectKind): Record<string, Migration> {
  return {
    '0001-initial': initialMigration(kind),
    '0002-notifications': notificationsMigration(kind),
    '0003-access-keys': accessKeysMigration(kind),
    '0004-delivery-budget': deliveryBudgetMigration(),
    '0005-endpoint-client-certificates': endpointClientCertificatesMigration(),
    '0006-endpoint-signature-format': endpointSignatureFormatMigration(),
    '0007-endpoint-sealed-headers': endpointSealedHeadersMigration(),
    '0008-inline-objects': inlineObjectsMigration(kind),
  };
}
