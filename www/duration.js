// A wait as words for the demo pages ("30 seconds", "2 minutes", "1 hour 5 min"), rounded
// up to a whole second, then to a whole minute past the first minute.
export function humanDuration(ms) {
  const total = Math.max(1, Math.ceil(ms / 1000));
  if (total < 60) return total === 1 ? "1 second" : `${total} seconds`;
  const minutes = Math.ceil(total / 60);
  if (minutes < 60) return minutes === 1 ? "1 minute" : `${minutes} minutes`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  const hs = h === 1 ? "1 hour" : `${h} hours`;
  return m ? `${hs} ${m} min` : hs;
}
