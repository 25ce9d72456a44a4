// The nginx sidecar's configuration, odp's own, rendered from the spec. It keeps
// what camptocamp/docker-odoo-nginx did (JSON access log, gzip, big uploads,
// long reads, static caching, websocket/longpolling to 8072) and adds what the
// platform wants everywhere: the database manager refused.

export interface NginxOptions {
  /**
   * Where Odoo answers: 127.0.0.1 when the sidecar shares Odoo's network
   * namespace; a name otherwise, looked up at request time through `resolver`.
   */
  odooHost: string;
  /**
   * The DNS server that names Odoo (Docker's 127.0.0.11): given when Odoo is
   * reached by name, whose address changes when its task is replaced (Swarm).
   * Without it nginx would resolve the name once, at start, and keep a stale
   * address; with it, a name that does not resolve yet is a 502, not a refusal
   * to start.
   */
  resolver?: string;
  httpPort?: number;
  longpollingPort?: number;
  listenPort?: number;
}

const jsonLog = [
  '{"timestamp":"$time_iso8601","timestamp_ms":"$msec","clientip":"$remote_addr","host":"$host",',
  '"verb":"$request_method","request":"$request_uri","response":$status,"bytes":$body_bytes_sent,',
  '"time_request":$request_time,"time_backend_connect":"$upstream_connect_time",',
  '"time_backend_response":"$upstream_response_time","cache":"$upstream_cache_status",',
  '"referrer":"$http_referer","agent":"$http_user_agent"}',
];

const gzipTypes = [
  'text/plain',
  'text/xml',
  'text/css',
  'text/comma-separated-values',
  'text/javascript',
  'application/json',
  'application/xml',
  'application/x-javascript',
  'application/javascript',
  'application/atom+xml',
];

export function renderNginxConf(o: NginxOptions): string {
  // With a resolver, the upstream is a variable: nginx then resolves it per request (cached `valid`).
  const http = o.resolver ? '$odoo_http' : `${o.odooHost}:${o.httpPort ?? 8069}`;
  const ws = o.resolver ? '$odoo_ws' : `${o.odooHost}:${o.longpollingPort ?? 8072}`;
  const lookup = o.resolver
    ? `
    resolver ${o.resolver} valid=1s ipv6=off;
    resolver_timeout 2s;
    set $odoo_http ${o.odooHost}:${o.httpPort ?? 8069};
    set $odoo_ws ${o.odooHost}:${o.longpollingPort ?? 8072};
`
    : '';
  const proxyHeaders = `
      proxy_set_header Host $http_host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto $forwarded_proto;`;
  return `# Rendered by odp; do not edit: change the spec and deploy.
worker_processes 2;
worker_rlimit_nofile 26000;
pid /tmp/nginx.pid;
error_log stderr warn;

events {
  worker_connections 10000;
}

http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  log_format json_combined escape=json '${jsonLog.join("'\n    '")}';
  access_log /dev/stdout json_combined;

  large_client_header_buffers 4 12k;
  keepalive_timeout 65;
  sendfile on;
  server_tokens off;
  client_body_temp_path /tmp/nginx-body;
  proxy_temp_path /tmp/nginx-proxy;

  gzip on;
  gzip_http_version 1.0;
  gzip_proxied any;
  gzip_min_length 500;
  gzip_types ${gzipTypes.join(' ')};

  proxy_connect_timeout 90;
  proxy_send_timeout 90;
  proxy_read_timeout 90;
  proxy_buffers 32 8k;
  proxy_buffer_size 4k;
  proxy_busy_buffers_size 8k;
  proxy_max_temp_file_size 2048m;
  proxy_temp_file_write_size 64k;
  proxy_cache_path /tmp/nginx-cache levels=1:2 keys_zone=one:10m inactive=60m;

  # Behind the TLS edge the scheme is the edge's; on its own it is ours.
  map $http_x_forwarded_proto $forwarded_proto {
    default $http_x_forwarded_proto;
    '' $scheme;
  }
  map $http_upgrade $connection_upgrade {
    default upgrade;
    '' close;
  }

  server {
    listen ${o.listenPort ?? 80} default_server;
    client_max_body_size 1G;
    add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;
${lookup}
    # The database manager lists, drops and restores databases: never exposed.
    location ^~ /web/database {
      return 403;
    }

    # Odoo >= 16: the websocket; older series: longpolling. Both live on the gevent port.
    location /websocket {
      proxy_pass http://${ws};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;${proxyHeaders}
      proxy_read_timeout 3600s;
    }
    location /longpolling {
      proxy_pass http://${ws};${proxyHeaders}
      proxy_read_timeout 3600s;
    }

    location = /monitoring/status {
      access_log off;
      proxy_pass http://${http};${proxyHeaders}
    }

    location ~* ^(/[^/]+/static/|/web/content/.+\\.(js|css)$) {
      proxy_pass http://${http};${proxyHeaders}
      proxy_cache one;
      proxy_cache_valid 200 60m;
      proxy_cache_valid any 1m;
      proxy_cache_revalidate on;
      proxy_cache_use_stale error timeout updating;
      proxy_cache_background_update on;
      proxy_cache_lock on;
      proxy_hide_header Set-Cookie;
      proxy_ignore_headers Set-Cookie;
      proxy_set_header Cookie "";
      proxy_cache_bypass $http_cache_control;
      add_header X-Cache-Status $upstream_cache_status;
    }

    location / {
      proxy_pass http://${http};${proxyHeaders}
      proxy_read_timeout 6h;
      proxy_connect_timeout 5s;
      proxy_buffering off;
      proxy_cookie_flags session_id samesite=lax;
    }
  }
}
`;
}
