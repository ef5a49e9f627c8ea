// SPDX-License-Identifier: GPL-2.0
/*
 * dsm-unit: host-side unit test of mempager-dsm's slot routing: CRC16 and
 * the key slot with hash tags, against Redis's documented values
 * (CRC16("123456789") = 0x31C3; CLUSTER KEYSLOT answers). Prints TAP.
 * With -k, prints the slot of each further argument (to compare with a
 * server's CLUSTER KEYSLOT).
 */
#include <stdio.h>
#include <string.h>

#include "dsm_redis.h"

static const struct {
	const char *key;
	unsigned int slot;
} cases[] = {
	/* From Redis's cluster specification and CLUSTER KEYSLOT. */
	{ "foo", 12182 },
	{ "bar", 5061 },
	{ "hello", 866 },
	{ "somekey", 11058 },
	{ "{user1000}.following", 3443 },
	{ "{user1000}.followers", 3443 },
	{ "user1000", 3443 },
	/* An empty tag is no tag; only the first '{' counts. */
	{ "foo{}{bar}", 8363 },
	{ "foo{{bar}}zap", 4015 },
	{ "foo{bar}{zap}", 5061 },
	{ "{", 4092 },
	{ "", 0 },
};

int main(int argc, char **argv)
{
	unsigned int i, n = sizeof(cases) / sizeof(cases[0]), failed = 0;
	uint16_t crc;

	if (argc > 1 && !strcmp(argv[1], "-k")) {
		for (i = 2; i < (unsigned int)argc; i++)
			printf("%u\n", dsm_keyslot(argv[i], strlen(argv[i])));
		return 0;
	}
	printf("TAP version 13\n1..%u\n", n + 1);
	crc = dsm_crc16("123456789", 9);
	printf("%sok 1 crc16_test_vector # 0x%04X\n", crc == 0x31C3 ? "" : "not ", crc);
	failed += crc != 0x31C3;
	for (i = 0; i < n; i++) {
		unsigned int s = dsm_keyslot(cases[i].key, strlen(cases[i].key));

		printf("%sok %u keyslot %s # %u, want %u\n", s == cases[i].slot ? "" : "not ",
		       i + 2, cases[i].key[0] ? cases[i].key : "(empty)", s, cases[i].slot);
		failed += s != cases[i].slot;
	}
	return failed ? 1 : 0;
}
