// Hostile arguments: each must come back from a real shell byte for byte.
export const hostileArguments = [
  '', ' ', 'plain', "it's", '"double"', '$(touch /tmp/stemforge-pwned)', '`id`', '$HOME', '${PATH}', 'a;b', 'a && b',
  'a|b', '*', '?', '[abc]', '~', 'line\nbreak', 'tab\there', 'back\\slash', '-n', '--', '!event', 'ümlaut ✓', "''",
  "'\\''", '\r', '#comment', 'a=b', '%s',
];
