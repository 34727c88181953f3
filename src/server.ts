import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createAdminServer } from './admin/admin-server.ts';
import { CredentialStore } from './auth/credential-store.ts';
import { ensureRootUser } from './auth/root-user.ts';
import type { Config } from './config/config.ts';
import { ConfigError } from './config/config-error.ts';
import { formatListenAddress, type ListenAddress } from './config/listen-address.ts';
import { openDatabase, type Database } from './db/database.ts';
import { loadMasterKey } from './db/master-key.ts';
import { verifyMasterKey } from './db/master-key-check.ts';
import { SecretBox } from './db/secret-box.ts';
import { sealPlaintextEndpointHeaders } from './db/endpoint-headers.ts';
import { releaseAllLeases } from './db/delivery-repository.ts';
import { Dispatcher } from './delivery/dispatcher.ts';
import { createAddressGuard } from './delivery/address-guard.ts';
import { parseCidr, type Cidr } from './delivery/address-policy.ts';
import { HttpSender } from './delivery/http-sender.ts';
import { syncConfigEndpoints } from './mutations/config-endpoint-sync.ts';
import type { MutationContext } from './mutations/mutation-context.ts';
import { OutboxRecorder } from './mutations/outbox-recorder.ts';
import { sweepOrphanBlobs } from './mutations/sweep-orphan-blobs.ts';
import type { Logger } from './observability/logger.ts';
import { createMetrics } from './observability/metrics.ts';
import { createS3Server } from './s3/s3-server.ts';
import { FsBlobStore } from './storage/fs-blob-store.ts';
import { VERSION } from './version.ts';

const SWEEP_INTERVAL_MS = 10 * 60_000;
const SWEEP_GRACE_MS = 60 * 60_000;

export interface RunningServer {
  readonly s3Address: AddressInfo;
  readonly adminAddress: AddressInfo;
  readonly rootAccessKeyId: string;
  stop(): Promise<void>;
}

/** Opens storage and metadata, makes sure a root user exists, and starts the S3 and admin listeners. */
export async function startServer(
  config: Config,
  logger: Logger,
  onRootCredentials: (accessKeyId: string, secretKey: string) => void,
): Promise<RunningServer> {
  const metrics = createMetrics();
  const database = await openDatabase(config.databaseUrl, logger);
  let s3: Server | undefined;
  let admin: Server | undefined;
  let dispatcher: Dispatcher | undefined;
  try {
    const box = new SecretBox(loadMasterKey(config.masterKey, config.dataDir));
    await verifyMasterKey(database.db, box);
    const sealedHeaders = await sealPlaintextEndpointHeaders(database.db, box);
    if (sealedHeaders > 0)
      logger.info({ endpoints: sealedHeaders }, 'sealed extra headers stored in the clear');
    const root = await ensureRootUser(
      database.db,
      box,
      { user: config.rootUser, password: config.rootPassword },
      Date.now(),
    );
    if (root.generated) onRootCredentials(root.accessKeyId, root.secretKey);
    const blobs = new FsBlobStore(path.join(config.dataDir, 'blobs'));
    await syncConfigEndpoints(database, box, config.endpoints, root.accessKeyId, Date.now());
    // Endpoints of non-admins go through the SSRF guard; admins' (and the YAML file's) may reach private addresses.
    const allowedCidrs = parseAllowedCidrs(config.webhookAllowedCidrs);
    const sender = new HttpSender({
      checkAddress: createAddressGuard({ allowedCidrs }),
      extraCa: config.webhookCa,
    });
    const trustedSender = new HttpSender({ extraCa: config.webhookCa });
    dispatcher = new Dispatcher({
      database,
      secretBox: box,
      logger: logger.child({ worker: 'delivery-dispatcher' }),
      version: VERSION,
      payloadSettings: { region: config.region, eventSource: config.eventSource },
      sender,
      trustedSender,
      pollIntervalMs: config.deliveryPollIntervalMs,
      succeededRetentionMs: config.deliveryRetentionMs,
      deadRetentionMs: config.deadLetterRetentionMs,
      // Purge often enough that nothing outlives its retention by more than half of it (at most every minute).
      purgeIntervalMs: Math.max(
        500,
        Math.min(60_000, config.deliveryRetentionMs / 2, config.deadLetterRetentionMs / 2),
      ),
      onAttempt: (report) => {
        metrics.deliveryAttempts.inc({ outcome: report.outcome, error_code: report.errorCode ?? '' });
        metrics.deliveryAttemptDuration.observe(report.durationMs / 1000);
      },
      onEndpointDisabled: (event) => {
        metrics.webhookAutoDisabled.inc({ trigger: event.trigger });
      },
    });
    const running = dispatcher;
    metrics.watchDeliveryQueue(() => running.status());
    const recorder = new OutboxRecorder({
      now: Date.now,
      wake: () => {
        running.wake();
      },
    });
    const mutations: MutationContext = { database, blobs, recorder, logger, now: Date.now };
    // One process owns an SQLite file, so nothing can be mid-upload at start: every unreferenced blob is an orphan.
    const startupGrace = database.kind === 'sqlite' ? 0 : SWEEP_GRACE_MS;
    metrics.blobsSwept.inc(await sweepOrphanBlobs(mutations, startupGrace));
    const sweeper = setInterval(() => {
      sweepOrphanBlobs(mutations, SWEEP_GRACE_MS)
        .then((n) => {
          metrics.blobsSwept.inc(n);
        })
        .catch((err: unknown) => {
          logger.error({ err }, 'blob sweep failed');
        });
    }, SWEEP_INTERVAL_MS);
    sweeper.unref();
    const credentials = new CredentialStore(database.db, box);
    s3 = createS3Server({
      config,
      database,
      blobs,
      mutations,
      credentials,
      logger,
      metrics,
      sender,
      trustedSender,
      webhookAllowedCidrs: allowedCidrs,
      userAgent: `bucketbell/${VERSION}`,
    });
    admin = createAdminServer({
      config,
      database,
      credentials,
      secretBox: box,
      mutations,
      dispatcher: running,
      sender,
      trustedSender,
      webhookAllowedCidrs: allowedCidrs,
      logger,
      metrics,
      version: VERSION,
      now: Date.now,
    });
    const s3Address = await listen(s3, config.address);
    const adminAddress = await listen(admin, config.adminAddress);
    if (database.singleWriter) {
      const released = await releaseAllLeases(database.db, Date.now());
      if (released > 0) logger.info({ released }, 'released deliveries left in flight by a crash');
    }
    // Deliveries committed by other instances on the same PostgreSQL database wake this dispatcher too.
    await database.wake.listen(() => {
      running.wake();
    });
    dispatcher.start();
    logger.info(
      {
        s3: formatListenAddress({ host: config.address.host, port: s3Address.port }),
        admin: formatListenAddress({ host: config.adminAddress.host, port: adminAddress.port }),
        s3Port: s3Address.port,
        adminPort: adminAddress.port,
        database: database.kind,
        dataDir: config.dataDir,
        version: VERSION,
      },
      'bucketbell is serving',
    );
    const s3Server = s3;
    const adminServer = admin;
    return {
      s3Address,
      adminAddress,
      rootAccessKeyId: root.accessKeyId,
      stop: async () => {
        clearInterval(sweeper);
        // No new changes first; then let in-flight deliveries finish (or release them), then the rest.
        await closeServer(s3Server);
        await running.stop({ graceMs: 10_000 });
        await closeServer(adminServer);
        await Promise.all([sender.destroy(), trustedSender.destroy()]);
        await blobs.close();
        await database.close();
      },
    };
  } catch (err) {
    await Promise.all(
      [s3, admin].filter((s): s is Server => s?.listening === true).map((s) => closeServer(s)),
    );
    await database.close();
    throw err;
  }
}

/** The config checked the syntax already; a network the guard cannot read is still a config error. */
function parseAllowedCidrs(texts: readonly string[]): Cidr[] {
  return texts.map((text) => {
    const cidr = parseCidr(text);
    if (cidr === undefined) throw new ConfigError('webhook_allowed_cidrs', `"${text}" is not a network`);
    return cidr;
  });
}

async function listen(server: Server, address: ListenAddress): Promise<AddressInfo> {
  server.listen(address.port, address.host);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([err]) => {
      throw new Error(`cannot listen on ${formatListenAddress(address)}: ${(err as Error).message}`);
    }),
  ]);
  return server.address() as AddressInfo;
}

/** Stops accepting, lets in-flight requests finish (up to 10 s), then closes what is left. */
async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  server.closeIdleConnections();
  const timer = setTimeout(() => {
    server.closeAllConnections();
  }, 10_000);
  await closed;
  clearTimeout(timer);
}

export type { Database };
