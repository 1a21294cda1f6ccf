// Pinned downloads: monit's source for the OS-image phase; the BOSH agent and the blobstore
// CLIs for the stemcell phase. A pin is a URL with its sha256; the build machine refuses a
// download whose digest differs. Each can be replaced by a local file (--monit-file,
// --agent-file) or, for the CLIs, left out with a flag that the stemcell's manifest then
// records.

export interface Pin {
  name: string;
  version: string;
  url: string;
  sha256: string;
  bytes?: number;
}

/** bosh-agent for linux-amd64, from the agent index's metalink of this version. */
export const agentPin: Pin = {
  name: 'bosh-agent',
  version: '2.832.0',
  url: 'https://s3-external-1.amazonaws.com/bosh-agent-binaries/bosh-agent-2.832.0-linux-amd64',
  sha256: '263f26406a82a108a318d525a44f0a5bfdbdecba44e83044e7a743d00a7e1d36',
  bytes: 21986812,
};

/**
 * The blobstore CLIs the agent calls, installed as /var/vcap/bosh/bin/bosh-blobstore-<type>.
 * Their hosts are not reachable from our machines, so these pins are not verified here:
 * a wrong digest makes the build fail, never installs an unchecked binary.
 */
export const blobstoreCliPins: readonly Pin[] = [
  {
    name: 'bosh-blobstore-dav',
    version: '0.0.237',
    url: 'https://s3.amazonaws.com/davcli/davcli-0.0.237-linux-amd64',
    sha256: '02b97f97cb842ae9bef8d51afc026d9281bcab7348acdd3fbb8f87f5f9c5f857',
  },
  {
    name: 'bosh-blobstore-gcs',
    version: '0.0.220',
    url: 'https://s3.amazonaws.com/bosh-gcscli-artifacts/bosh-gcscli-0.0.220-linux-amd64',
    sha256: '78f74c2f092c5c2e6fdca94088fd7de2d7654e457702359266ba4d1df4c7a497',
  },
  {
    name: 'bosh-blobstore-s3',
    version: '0.0.424',
    url: 'https://bosh-s3cli-artifacts.s3.us-east-1.amazonaws.com/s3cli-0.0.424-linux-amd64',
    sha256: '324cfe42715c910ad6e9f2609bb1dfa811e83c4561ae02d6c07c86461b1d9105',
  },
  {
    name: 'bosh-blobstore-azure-storage',
    version: '0.0.89',
    url: 'https://s3.amazonaws.com/bosh-azure-storage-cli-artifacts/azure-storage-cli-0.0.89-linux-amd64',
    sha256: 'fa6173d76d41662ab7e264e5f401611adee03fa11b6d62129757c333d8f1718c',
  },
];

/**
 * monit 5.2.5's source, the version the BOSH agent's job control is written against (newer
 * monits refuse its form posts without a CSRF token). The digest is that of the tarball the
 * reference builder ships as an asset of its bosh_monit stage; the URL is monit's public
 * archive, which our machines cannot reach to check, so a copy that differs fails the build.
 */
export const monitSourcePin: Pin = {
  name: 'monit',
  version: '5.2.5',
  url: 'https://mmonit.com/monit/dist/monit-5.2.5.tar.gz',
  sha256: '3c2496e9f653ff8a46b75b61126a86cb3861ad35e4eeb7379d64a0fc55c1fd8d',
  bytes: 608861,
};
