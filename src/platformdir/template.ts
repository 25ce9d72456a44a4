// The platform.yaml that `odp init` writes: a single Docker host running
// everything, commented so a newcomer can grow it into the multi-host layout
// (see examples/platform for the original document's six servers).
import { schemaModeline } from '../platform-spec/schema-modeline.js';
/** Let's Encrypt's ACME directories: a new platform starts on staging. */
export const LETS_ENCRYPT = {
  staging: 'https://acme-staging-v02.api.letsencrypt.org/directory',
  production: 'https://acme-v02.api.letsencrypt.org/directory',
} as const;

export function platformTemplate(name: string, domain: string, email: string): string {
  return `# ${schemaModeline('platform')}
# odp platform spec. Check it with \`odp check\`; the line above points editors at its JSON Schema.
name: ${name}
# Parent domain: instances get test.<project>.${domain}, integration.<project>.${domain}, <project>.${domain}
domain: ${domain}

# Machines and their labels. Integration instances run on hosts labelled
# application+integration, prod on every host labelled application+production
# (one Odoo per host). On a single Docker host, one host carries every label.
hosts:
  local:
    address: 127.0.0.1
    datacentre: dc1
    labels: [application, production, integration, database]

services:
  # The PostgreSQL cluster for prod: add \`replica: <host in another datacentre>\`.
  postgres: { primary: local, port: 5432 }
  postgresIntegration: { host: local }
  redis: { host: local }
  redisIntegration: { host: local }
  # Any S3-compatible endpoint (AWS, Exoscale, MinIO). \`embedded: true\` runs a
  # local S3-compatible server for a single host.
  storage: { endpoint: "http://127.0.0.1:4569", region: us-east-1, embedded: true }
  edge: { hosts: [local], httpPort: 80, httpsPort: 443 }
  # statsd: { host: 10.0.0.5, port: 8125 }

acme:
  # Let's Encrypt's staging directory: test certificates that browsers do not
  # trust, under generous rate limits, while you try things out. Once the
  # platform serves, switch to production: ${LETS_ENCRYPT.production}
  directory: ${LETS_ENCRYPT.staging}
  email: ${email}
  challenge: http-01
  # Renewed when a third of a certificate's lifetime is left; or fix it: renewBeforeDays: 30

# Customer plans: Odoo workers and limits per instance.
plans:
  test: { workers: 2, cronThreads: 1, memorySoft: 325058560, memoryHard: 1572864000, dbMaxConn: 5 }
  standard: { workers: 4, cronThreads: 1, memorySoft: 325058560, memoryHard: 1572864000, dbMaxConn: 5 }
testPlan: test

# Images of the platform's own services (\`odp images build\` makes them offline).
images:
  postgres: odp/postgres:15
  redis: odp/redis:7
  nginx: odp/nginx:1.22
  haproxy: odp/haproxy:2.6
`;
}

/** Plaintext secrets never enter git; the encrypted .env.gpg files do. */
export const gitignoreTemplate = `# odp: decrypted secrets must never be committed
*.env
.env
rancher.env
!*.env.gpg
.odp-state/
`;
