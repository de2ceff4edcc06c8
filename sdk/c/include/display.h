/*
 * Display natives (natives/display, module "env"): the API of WAMR's littlevgl sample with the
 * app-framework signatures. Colors are lv_color_t with LV_COLOR_DEPTH 32: a uint32_t holding
 * 0xAARRGGBB (bytes blue, green, red, alpha in memory). The screen is 320x240 by default.
 *
 * Every region named here must lie wholly inside the app's memory, or the app traps with
 * "out of bounds memory access" and nothing is drawn. Rectangles use inclusive corners and are
 * clipped to the screen; x2 < x1 or y2 < y1 draws nothing.
 *
 *   display_init       ()        does nothing (kept for the sample's apps)
 *   display_flush      (iiii*)   copies (x2-x1+1)*(y2-y1+1) colors, row by row, to the screen
 *   display_fill       (iiii*)   fills the rectangle with *color (by pointer, as in the AF)
 *   display_map        (iiii*)   like display_flush (LVGL's map callback)
 *   display_vdb_write  (*iii*i)  stores *color at buf + 4*x + 4*y*buf_w; opa is ignored
 *   display_input_read (*)i      fills *data with the pointer state; returns true while more
 *                                queued input is due (read again), false otherwise
 *   time_get_ms        ()i       milliseconds on the display's clock, truncated to 32 bits
 *
 * The natives may also be called through function pointers (LVGL's driver structures).
 */
#ifndef MICRO_RUNTIME_DISPLAY_H
#define MICRO_RUNTIME_DISPLAY_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A 32-bit color, 0xAARRGGBB. */
typedef uint32_t display_color_t;

/** Pointer states in display_input_t.state. */
enum { DISPLAY_INPUT_RELEASED = 0, DISPLAY_INPUT_PRESSED = 1 };

/** lv_indev_data_t of LVGL 5.3 as laid out on wasm32 (12 bytes). */
typedef struct display_input {
  int16_t x;
  int16_t y;
  uint32_t user_data; /* left as the app set it */
  uint8_t state;      /* DISPLAY_INPUT_RELEASED or DISPLAY_INPUT_PRESSED */
} display_input_t;

_Static_assert(sizeof(display_input_t) == 12, "display_input_t must match lv_indev_data_t");

void display_init(void);
void display_flush(int32_t x1, int32_t y1, int32_t x2, int32_t y2,
                   const display_color_t *color_p);
void display_fill(int32_t x1, int32_t y1, int32_t x2, int32_t y2, const display_color_t *color);
void display_map(int32_t x1, int32_t y1, int32_t x2, int32_t y2, const display_color_t *color_p);
void display_vdb_write(void *buf, int32_t buf_w, int32_t x, int32_t y,
                       const display_color_t *color, int32_t opa);
bool display_input_read(display_input_t *data);
uint32_t time_get_ms(void);

#ifdef __cplusplus
}
#endif

#endif /* MICRO_RUNTIME_DISPLAY_H */
