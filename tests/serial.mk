# GNU make, included by the generated Makefile (tests/include.am; automake
# does not read this file).  In the make runs that run suites, and only
# there, suites run one after the other and -k lets check-local print the
# closing lines after a failed suite (make check still fails).
ifneq ($(filter check-TESTS check-local recheck $(TEST_SUITE_LOG),$(MAKECMDGOALS)),)
.NOTPARALLEL:
MAKEFLAGS += -k
endif
