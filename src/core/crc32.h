/* CRC-32 (zlib's crc32(): the polynomial 0xEDB88320, reflected, inverted in and out) of any length, by carry-less
 * multiplication where the CPU has it (PCLMULQDQ: 16 bytes a step, 64 in flight), else zlib's tables. */
#ifndef A2M_CORE_CRC32_H
#define A2M_CORE_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* the CRC of buf[0..len) continuing from crc (0 to start), as zlib's crc32(crc, buf, len) */
uint32_t a2m_crc32(uint32_t crc, const uint8_t *buf, size_t len);

#endif
