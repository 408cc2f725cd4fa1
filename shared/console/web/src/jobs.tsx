import { useState } from "preact/hooks";
import { api, Job } from "./api";
import { ErrorText, Status, time, usePoll } from "./ui";

// JobProgress follows a recover or a clear that goes on in the background after its request
// answered (a jobId), reading the job every second until it is complete. Without a job the
// request did it all.
export function JobProgress({ jobId, label, noun }: { jobId: string | null; label: string; noun: string }) {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<unknown>(null);
  const done = jobId === null || job?.status === "complete";
  usePoll(
    async () => {
      if (jobId === null || done) return;
      try {
        setJob((await api.get<Job>(`/api/webhook/jobs/${encodeURIComponent(jobId)}`)).data);
        setError(null);
      } catch (e) {
        setError(e);
      }
    },
    done ? 0 : 1000,
    [jobId, done],
  );
  if (jobId === null) return null;
  return (
    <div class="job" data-testid="job" data-status={job?.status ?? "running"} data-count={job?.count}>
      <p role="status" aria-live="polite">
        Job {jobId}: <Status value={job?.status ?? "running"} />
        {job && (
          <>
            {" "}
            · {job.count} {noun} {job.status === "complete" ? "in all" : "so far"} · started {time(job.createdAt)}, last progress{" "}
            {time(job.updatedAt)}
          </>
        )}
      </p>
      {done ? <progress aria-label={label} value={1} max={1} /> : <progress aria-label={label} />}
      <ErrorText error={error} />
    </div>
  );
}
