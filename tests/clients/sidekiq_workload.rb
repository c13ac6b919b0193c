# Sidekiq (Debian's ruby-sidekiq) against one server, for
# tests/integration/test_frameworks.py: FW_URL=redis://host:port/db.
# Pushes 30 jobs one by one, 10 in bulk, one scheduled 0.5 s ahead and one
# that fails; starts a real sidekiq process (3 threads) that runs them;
# prints one JSON line with what ended where, then stops sidekiq (TERM).
require 'json'
require_relative 'sidekiq_jobs'
require 'sidekiq/api'

out = { ok: false }
Sidekiq.redis { |r| r.flushdb }
30.times { |i| SquareJob.perform_async(i) }
Sidekiq::Client.push_bulk('class' => SquareJob, 'args' => (100...110).map { |i| [i] })
SquareJob.perform_in(0.5, 1000)
FailJob.perform_async
out[:queued] = Sidekiq::Queue.new.size
out[:scheduled] = Sidekiq::ScheduledSet.new.size
log = ENV['FW_SIDEKIQ_LOG'] || File::NULL
pid = spawn({ 'FW_URL' => ENV.fetch('FW_URL') }, 'sidekiq', '-r', File.join(__dir__, 'sidekiq_jobs.rb'),
            '-c', '3', '-t', '2', out: log, err: [:child, :out])
begin
  t0 = Time.now
  results = {}
  dead = 0
  while Time.now - t0 < 20
    results = Sidekiq.redis { |r| r.hgetall('fwsk:results') }
    dead = Sidekiq::DeadSet.new.size
    break if results.size >= 41 && dead >= 1
    sleep 0.1
  end
  out[:results] = results.size
  out[:sum] = results.values.map(&:to_i).sum
  out[:dead] = dead
  out[:deadError] = Sidekiq::DeadSet.new.first&.item&.fetch('error_message', nil)
  out[:left] = Sidekiq::Queue.new.size + Sidekiq::ScheduledSet.new.size + Sidekiq::RetrySet.new.size
  out[:processes] = Sidekiq::ProcessSet.new.size
  out[:ok] = true
ensure
  Process.kill('TERM', pid)
  Process.wait(pid)
end
out[:exited] = $?.exitstatus
puts JSON.generate(out)
