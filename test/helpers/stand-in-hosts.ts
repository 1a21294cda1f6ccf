// Host systems and architectures that cannot exist here (macOS, Windows, arm64), as the
// host facts the wizard and the doctor read: stand-ins, named as such.
export const standInHosts = {
  linux: { platform: 'linux', arch: 'x64' },
  linuxArm: { platform: 'linux', arch: 'arm64' },
  macIntel: { platform: 'darwin', arch: 'x64' },
  appleSilicon: { platform: 'darwin', arch: 'arm64' },
  windows: { platform: 'win32', arch: 'x64' },
  windowsArm: { platform: 'win32', arch: 'arm64' },
} as const;
