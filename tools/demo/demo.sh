#!/bin/sh
# The demo that make run shows inside the test VM: the example pagers of
# tools/ serving an application, with their traces. Every step has a
# time-out, so the demo always ends.
set -e
cd /demo
PATH=/demo:$PATH
file=/tmp/demo.txt

echo '$ mempagerctl api'
mempagerctl api

echo
echo "# A two-page file: a line of text, then zeros."
dd if=/dev/zero of=$file bs=4096 count=2 2>/dev/null
printf 'hello from the file\n' | dd of=$file conv=notrunc 2>/dev/null
echo "# The file pager maps it; the demo client reads, writes, forks,"
echo "# msyncs and unmaps; then the objects table."
echo "\$ mempager-filepager -o /tmp/filepager.trace $file \\"
echo "      sh -c 'mempager-democlient && mempagerctl objects'"
timeout 150 mempager-filepager -t 120 -o /tmp/filepager.trace $file \
	sh -c 'mempager-democlient && mempagerctl objects'
echo
echo "# The file pager's trace (<- messages received, -> calls made):"
cat /tmp/filepager.trace
echo
echo "# The file after terminate:"
tr -d '\000' <$file

echo
echo "# The checksumming pager, 3 threads. The first client writes page 1;"
echo "# the second reads it back: supplied precious, returned clean at"
echo "# terminate, and checked against its CRC."
echo "\$ mempager-cksum -n 4 -j 3 -o /tmp/cksum.trace sh -c \\"
echo "      'mempager-democlient -m checksummed && mempager-democlient -r 0x1000 -w 0x2000 -m again'"
timeout 150 mempager-cksum -n 4 -j 3 -t 120 -o /tmp/cksum.trace sh -c \
	'mempager-democlient -m checksummed && mempager-democlient -r 0x1000 -w 0x2000 -m again'
echo
echo "# Its trace:"
cat /tmp/cksum.trace
