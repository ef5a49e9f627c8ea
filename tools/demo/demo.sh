#!/bin/sh
# The demo that make run shows inside the test VM.
set -e
cd /demo
echo "\$ ls -l /dev/mempager"
ls -l /dev/mempager
echo "\$ mempagerctl api"
./mempagerctl api
