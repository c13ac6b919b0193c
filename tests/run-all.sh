#!/bin/sh
echo "tests: 0 passed, 0 failed"
