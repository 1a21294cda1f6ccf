// Checks for the system stages: grub packages, vim, machine-id.
import assert from 'node:assert/strict';
import { architectureFacts } from '../../../src/catalog/architectures.js';
import type { Check } from '../image.js';

export const systemChecks: Check[] = [
  {
    stages: ['system_grub'],
    title: "GRUB tools and the architecture's BIOS/UEFI modules present, no bootloader package and no kernel",
    covers: ['os.grub.menu-lst'],
    run(img) {
      const grub = architectureFacts[img.os.arch].grub;
      for (const p of grub.packages) assert.ok(img.installed(p), p);
      for (const p of ['grub-pc', 'grub-efi-amd64', 'grub-efi-arm64']) assert.ok(!img.installed(p), `${p} would install to a disk`);
      const kernels = [...img.packages()].filter(([name, status]) => name.startsWith('linux-image-') && status === 'installed');
      assert.deepEqual(kernels, []);
      assert.deepEqual(
        img.list('boot').filter((f) => /^(vmlinuz|initrd)/.test(f)),
        [],
      );
      for (const platform of grub.platforms) {
        assert.ok(img.exists(`boot/grub/${platform}/normal.mod`), `${platform} modules`);
        assert.ok(img.exists(`boot/grub/${platform}/linux.mod`), `${platform} linux loader`);
      }
      assert.ok(img.lstat('boot/grub/menu.lst')?.isFile(), '/boot/grub/menu.lst is a regular file');
    },
  },
  {
    stages: ['vim_tiny'],
    title: 'vim runs vim.tiny',
    covers: ['os.vim.tiny-link'],
    run(img) {
      assert.ok(img.installed('vim-tiny') && img.installed('vim-runtime'));
      assert.equal(img.runOk(['readlink', '-f', '/usr/bin/vim']).trim(), '/usr/bin/vim.tiny');
      assert.match(img.runOk(['vim', '--version']), /Small version|Tiny version/);
    },
  },
  {
    stages: ['clean_machine_id'],
    title: 'machine-id exists and is empty, no dbus copy',
    covers: ['os.machine-id.empty', 'os.machine-id.no-dbus-copy'],
    run(img) {
      assert.equal(img.lstat('etc/machine-id')?.size, 0);
      assert.ok(!img.exists('var/lib/dbus/machine-id'));
    },
  },
];
