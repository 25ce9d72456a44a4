// The HTTP health probe every engine and every rendered file uses: it needs
// nothing but bash in the image (bash's /dev/tcp). Odoo images, our nginx and
// most Debian-based images have bash; curl, wget or python they may not
// (docs/decisions/0009). Builtins only (`printf`, `read`, `[[`): one process per
// check, where `head | grep` started three (docs/decisions/0050).
export function httpProbe(path: string, port: number): string[] {
  const request = `GET ${path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n`;
  return [
    'CMD',
    'bash',
    '-c',
    `exec 3<>/dev/tcp/127.0.0.1/${port} && printf '${request}' >&3 && read -r -t 5 status <&3 && [[ $status == *' 200 '* ]]`,
  ];
}
