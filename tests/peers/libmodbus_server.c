/*
 * A Modbus TCP server written with libmodbus, so that the driver is tested against an
 * implementation that shares no code with pymodbus.
 *
 * Usage: libmodbus_server PORT
 * Binds 127.0.0.1:PORT, prints "listening on 127.0.0.1:PORT" once ready and serves any
 * number of clients until it is killed. The register map is fixed; tests/test_modbus_interop.py
 * holds the matching expectations, so change both together.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <modbus.h>

static void set_string(uint16_t *dest, const char *text, int registers)
{
    /* Two characters per register, the first in the high byte; NUL padded. */
    int length = (int)strlen(text);
    for (int i = 0; i < registers; i++) {
        uint16_t high = 2 * i < length ? (uint8_t)text[2 * i] : 0;
        uint16_t low = 2 * i + 1 < length ? (uint8_t)text[2 * i + 1] : 0;
        dest[i] = (uint16_t)(high << 8 | low);
    }
}

static void set_float32(uint16_t *dest, float value, const char *order)
{
    /*
     * Wire bytes spelled as in the Modbus byte-order convention: A is the most significant
     * byte of the IEEE 754 value, so "CDAB" puts the low word first. Not modbus_set_float_abcd()
     * and friends: in libmodbus 3.1.6 (Debian 12) their names are byte-swapped against this
     * convention (its "abcd" puts B A D C on the wire, measured on x86-64).
     */
    uint32_t bits;
    uint8_t wire[4];
    memcpy(&bits, &value, sizeof bits);
    for (int i = 0; i < 4; i++)
        wire[i] = (uint8_t)(bits >> (8 * (3 - (order[i] - 'A'))));
    dest[0] = (uint16_t)(wire[0] << 8 | wire[1]);
    dest[1] = (uint16_t)(wire[2] << 8 | wire[3]);
}

static void fill(modbus_mapping_t *map)
{
    uint16_t *hr = map->tab_registers;
    uint16_t *ir = map->tab_input_registers;

    map->tab_bits[0] = 1;
    map->tab_bits[3] = 1;
    map->tab_input_bits[1] = 1;

    hr[0] = 1234;                   /* uint16 */
    hr[1] = (uint16_t)-1234;        /* int16, two's complement */
    hr[2] = 0x0001;                 /* int32 123456 = 0x0001E240, most significant word first */
    hr[3] = 0xE240;
    hr[4] = 0xB2D0;                 /* uint32 3000000000 = 0xB2D05E00 */
    hr[5] = 0x5E00;
    hr[6] = 0xFFFF;                 /* int64 -2 */
    hr[7] = 0xFFFF;
    hr[8] = 0xFFFF;
    hr[9] = 0xFFFE;
    set_float32(&hr[10], -12.25f, "ABCD");
    set_float32(&hr[12], -12.25f, "CDAB");
    set_float32(&hr[14], -12.25f, "BADC");
    set_float32(&hr[16], -12.25f, "DCBA");
    hr[18] = 0x4009;                /* float64 3.125 = 0x4009000000000000 */
    hr[19] = 0x0000;
    hr[20] = 0x0000;
    hr[21] = 0x0000;
    set_string(&hr[22], "LIBMODBUS", 5);
    hr[27] = 0x8005;                /* bits 0, 2 and 15 set */

    set_float32(&ir[0], 123.5f, "ABCD");
    set_float32(&ir[2], 123.5f, "CDAB");
    ir[4] = 4321;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", port);
    modbus_mapping_t *map = modbus_mapping_new(64, 64, 100, 64);
    if (ctx == NULL || map == NULL) {
        fprintf(stderr, "cannot allocate the context or the mapping\n");
        return 1;
    }
    fill(map);
    int listener = modbus_tcp_listen(ctx, 8);
    if (listener < 0) {
        fprintf(stderr, "cannot listen on 127.0.0.1:%d: %s\n", port, modbus_strerror(errno));
        return 1;
    }
    printf("listening on 127.0.0.1:%d\n", port);
    fflush(stdout);

    fd_set open_sockets;
    FD_ZERO(&open_sockets);
    FD_SET(listener, &open_sockets);
    int highest = listener;
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];

    for (;;) {
        fd_set readable = open_sockets;
        if (select(highest + 1, &readable, NULL, NULL, NULL) < 0) {
            if (errno == EINTR)
                continue;
            perror("select");
            break;
        }
        for (int fd = 0; fd <= highest; fd++) {
            if (!FD_ISSET(fd, &readable))
                continue;
            if (fd == listener) {
                int client = modbus_tcp_accept(ctx, &listener);
                if (client >= 0) {
                    FD_SET(client, &open_sockets);
                    if (client > highest)
                        highest = client;
                }
                continue;
            }
            modbus_set_socket(ctx, fd);
            int length = modbus_receive(ctx, query);
            if (length > 0) {
                modbus_reply(ctx, query, length, map);
            } else if (length < 0) {
                /* The client closed or sent garbage: forget it, keep serving the others. */
                close(fd);
                FD_CLR(fd, &open_sockets);
            }
        }
    }
    modbus_mapping_free(map);
    modbus_free(ctx);
    return 0;
}
