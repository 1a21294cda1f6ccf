# Written for stemforge (sbom_create): turn the image's installed packages, one per line as
# "name<TAB>version<TAB>arch<TAB>source<TAB>source version", into an SBOM on stdout:
# ENVIRON["SBOM_FORMAT"] "spdx" (SPDX 2.3 JSON) or "cyclonedx" (CycloneDX 1.5 JSON).
# Other inputs, from the environment: SBOM_DISTRO, SBOM_DISTRO_VERSION, SBOM_NAME,
# SBOM_VERSION, SBOM_OS, SBOM_TOOL_VERSION, SBOM_CREATED, SBOM_NAMESPACE, SBOM_SERIAL.
# Every field is checked against a plain character set first, so no value needs JSON
# escaping; a line that does not pass stops the program (exit 2).

function pct(s,    out, i, c) {
  # percent-encoding of a purl segment: everything but unreserved characters
  out = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c ~ /[A-Za-z0-9._~-]/) out = out c
    else out = out sprintf("%%%02X", ord[c])
  }
  return out
}

function idpart(s) {
  gsub(/[^A-Za-z0-9.-]/, "-", s)
  return s
}

function purl(i,    q) {
  q = "arch=" pct(arch[i]) "&distro=" pct(ENVIRON["SBOM_DISTRO"] "-" ENVIRON["SBOM_DISTRO_VERSION"])
  if (src[i] != name[i] || srcver[i] != version[i]) {
    q = q "&upstream=" pct(src[i])
    if (srcver[i] != version[i]) q = q "%40" pct(srcver[i])
  }
  return "pkg:deb/" ENVIRON["SBOM_DISTRO"] "/" pct(name[i]) "@" pct(version[i]) "?" q
}

BEGIN {
  FS = "\t"
  for (k = 32; k < 127; k++) ord[sprintf("%c", k)] = k
  n = 0
  for (v in ENVIRON) if (v ~ /^SBOM_/ && ENVIRON[v] !~ /^[A-Za-z0-9 .,:+~_\/()=-]*$/) { print "sbom.awk: unexpected characters in " v > "/dev/stderr"; bad = 1; exit 2 }
}

NF != 5 || $1 !~ /^[a-z0-9][a-z0-9+.-]*$/ || $2 !~ /^[A-Za-z0-9.+~:-]+$/ || $3 !~ /^[a-z0-9-]+$/ ||
$4 !~ /^[a-z0-9][a-z0-9+.-]*$/ || $5 !~ /^[A-Za-z0-9.+~:-]+$/ {
  print "sbom.awk: unexpected package line " NR ": " $0 > "/dev/stderr"
  bad = 1
  exit 2
}

{ n++; name[n] = $1; version[n] = $2; arch[n] = $3; src[n] = $4; srcver[n] = $5 }

END {
  if (bad) exit 2
  if (n == 0) { print "sbom.awk: no packages" > "/dev/stderr"; exit 2 }
  fmt = ENVIRON["SBOM_FORMAT"]
  if (fmt == "spdx") spdx()
  else if (fmt == "cyclonedx") cyclonedx()
  else { print "sbom.awk: unknown SBOM_FORMAT " fmt > "/dev/stderr"; exit 2 }
}

function spdx(    i, id, sep) {
  print "{"
  print "  \"spdxVersion\": \"SPDX-2.3\","
  print "  \"dataLicense\": \"CC0-1.0\","
  print "  \"SPDXID\": \"SPDXRef-DOCUMENT\","
  print "  \"name\": \"" ENVIRON["SBOM_NAME"] "-" ENVIRON["SBOM_VERSION"] "\","
  print "  \"documentNamespace\": \"" ENVIRON["SBOM_NAMESPACE"] "\","
  print "  \"creationInfo\": {"
  print "    \"created\": \"" ENVIRON["SBOM_CREATED"] "\","
  print "    \"creators\": [\"Tool: stemforge-" ENVIRON["SBOM_TOOL_VERSION"] "\"],"
  print "    \"comment\": \"The packages of the dpkg database of the stemcell's root file system.\""
  print "  },"
  print "  \"packages\": ["
  print "    {"
  print "      \"name\": \"" ENVIRON["SBOM_NAME"] "\","
  print "      \"SPDXID\": \"SPDXRef-Stemcell\","
  print "      \"versionInfo\": \"" ENVIRON["SBOM_VERSION"] "\","
  print "      \"primaryPackagePurpose\": \"OPERATING-SYSTEM\","
  print "      \"description\": \"BOSH stemcell (" ENVIRON["SBOM_OS"] ")\","
  print "      \"downloadLocation\": \"NOASSERTION\","
  print "      \"filesAnalyzed\": false,"
  print "      \"licenseConcluded\": \"NOASSERTION\","
  print "      \"licenseDeclared\": \"NOASSERTION\","
  print "      \"copyrightText\": \"NOASSERTION\""
  printf "    }"
  for (i = 1; i <= n; i++) {
    print ","
    print "    {"
    print "      \"name\": \"" name[i] "\","
    print "      \"SPDXID\": \"SPDXRef-Package-deb-" i "-" idpart(name[i]) "\","
    print "      \"versionInfo\": \"" version[i] "\","
    print "      \"sourceInfo\": \"built from the " ENVIRON["SBOM_DISTRO"] " source package " src[i] " " srcver[i] "\","
    print "      \"downloadLocation\": \"NOASSERTION\","
    print "      \"filesAnalyzed\": false,"
    print "      \"licenseConcluded\": \"NOASSERTION\","
    print "      \"licenseDeclared\": \"NOASSERTION\","
    print "      \"copyrightText\": \"NOASSERTION\","
    print "      \"externalRefs\": ["
    print "        {"
    print "          \"referenceCategory\": \"PACKAGE-MANAGER\","
    print "          \"referenceType\": \"purl\","
    print "          \"referenceLocator\": \"" purl(i) "\""
    print "        }"
    print "      ]"
    printf "    }"
  }
  print ""
  print "  ],"
  print "  \"relationships\": ["
  printf "    {\"spdxElementId\": \"SPDXRef-DOCUMENT\", \"relationshipType\": \"DESCRIBES\", \"relatedSpdxElement\": \"SPDXRef-Stemcell\"}"
  for (i = 1; i <= n; i++) {
    print ","
    printf "    {\"spdxElementId\": \"SPDXRef-Stemcell\", \"relationshipType\": \"CONTAINS\", \"relatedSpdxElement\": \"SPDXRef-Package-deb-%d-%s\"}", i, idpart(name[i])
  }
  print ""
  print "  ]"
  print "}"
}

function cyclonedx(    i) {
  print "{"
  print "  \"bomFormat\": \"CycloneDX\","
  print "  \"specVersion\": \"1.5\","
  print "  \"serialNumber\": \"urn:uuid:" ENVIRON["SBOM_SERIAL"] "\","
  print "  \"version\": 1,"
  print "  \"metadata\": {"
  print "    \"timestamp\": \"" ENVIRON["SBOM_CREATED"] "\","
  print "    \"tools\": {"
  print "      \"components\": [{\"type\": \"application\", \"name\": \"stemforge\", \"version\": \"" ENVIRON["SBOM_TOOL_VERSION"] "\"}]"
  print "    },"
  print "    \"component\": {"
  print "      \"bom-ref\": \"stemcell\","
  print "      \"type\": \"operating-system\","
  print "      \"name\": \"" ENVIRON["SBOM_NAME"] "\","
  print "      \"version\": \"" ENVIRON["SBOM_VERSION"] "\","
  print "      \"description\": \"BOSH stemcell (" ENVIRON["SBOM_OS"] ")\""
  print "    }"
  print "  },"
  print "  \"components\": ["
  for (i = 1; i <= n; i++) {
    print "    {"
    print "      \"bom-ref\": \"" purl(i) "\","
    print "      \"type\": \"library\","
    print "      \"name\": \"" name[i] "\","
    print "      \"version\": \"" version[i] "\","
    print "      \"purl\": \"" purl(i) "\","
    print "      \"properties\": ["
    print "        {\"name\": \"stemforge:deb:architecture\", \"value\": \"" arch[i] "\"},"
    print "        {\"name\": \"stemforge:deb:source\", \"value\": \"" src[i] "\"},"
    print "        {\"name\": \"stemforge:deb:source-version\", \"value\": \"" srcver[i] "\"}"
    print "      ]"
    printf "    }%s\n", (i < n ? "," : "")
  }
  print "  ],"
  print "  \"dependencies\": ["
  print "    {"
  print "      \"ref\": \"stemcell\","
  print "      \"dependsOn\": ["
  for (i = 1; i <= n; i++) printf "        \"%s\"%s\n", purl(i), (i < n ? "," : "")
  print "      ]"
  print "    }"
  print "  ]"
  print "}"
}
